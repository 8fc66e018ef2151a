"""Other services' events this service reads, as tolerant reader models."""
