-- The last deployment Coolify reported for a slot's application, kept across bots: after
-- a start whose answer was lost, a newer deployment proves the start took effect.
ALTER TABLE pool_slots ADD COLUMN last_deployment_uuid TEXT;
