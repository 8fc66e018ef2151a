"""The views service's only commands: recording who read a department's feed (an audit event),
and closing each day (the clock the feeds judge missed care visits by). Everything else it does
is reading."""
