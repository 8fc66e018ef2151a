"""Wangge training: grid workers' sessions, programmes, secondments, handbooks and forums, and
each worker's record (提情知策)."""
