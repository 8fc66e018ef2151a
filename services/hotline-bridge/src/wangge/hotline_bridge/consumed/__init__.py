"""Other services' events as the hotline bridge reads them (integration events)."""
