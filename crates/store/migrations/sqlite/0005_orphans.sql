-- The live sessions in id order, for the sweep that finds sessions no live instance holds
-- (their owner died, or released them at shutdown). Partial: closed sessions, the vast
-- majority, are not in it, and lease renewals do not touch it.
CREATE INDEX sessions_alive ON sessions (id) WHERE state = 'alive';
