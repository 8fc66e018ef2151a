"""The registry service (提户知人): the base register of people, places, things and organisations.

Collected once by grid workers door to door, used many times by every department.
"""
