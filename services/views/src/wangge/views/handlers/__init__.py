"""The views service's only commands: recording who read a department's feed (an audit event on
the service's own stream). Everything else it does is reading."""
