//! Renders pgBackRest's configuration, the bootstrap and backup scripts and the schedule.
