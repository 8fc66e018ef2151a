"""The registry's domain: aggregates, commands, events and errors, in pure Python.

Nothing here imports FastAPI, SQLAlchemy or aiokafka (a test keeps it so).
"""
