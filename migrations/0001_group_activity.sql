CREATE TABLE `group_activity` (
	`group_id` text PRIMARY KEY NOT NULL,
	`last_active_ms` integer NOT NULL,
	`active_node_id` integer,
	`active_broker_epoch` integer
);
