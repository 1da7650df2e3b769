"""Reply by mail: read replies to reminders, apply the Swedish commands in them, answer once."""
