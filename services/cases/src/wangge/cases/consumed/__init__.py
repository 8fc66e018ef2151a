"""Other services' events as the cases service reads them (integration events)."""
