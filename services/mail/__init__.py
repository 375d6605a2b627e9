"""Mail and reminders (knows no screen: screens register with it through services.registry): the outbox, sending,
the worker, the reminder engine and My tasks."""
