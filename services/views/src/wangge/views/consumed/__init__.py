"""Other services' events as the views service reads them (integration events)."""
