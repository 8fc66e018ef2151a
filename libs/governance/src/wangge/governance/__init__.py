"""Wangge's governance kernel: what the services share about the subdistrict and its people,
apart from the web kit (``wangge.service``).

Each module is imported by name (``from wangge.governance.redaction import redact``); this file
imports none of them, so a domain that needs the pure ones (addresses, appointments, personal,
redaction, registry_events, erasure, special_groups, times, and the rules two services must
count alike: care_schedule, hotline_figures) never loads the SQLAlchemy that the read-model
helpers (place_tree, grid_workers, roster) need.
"""
