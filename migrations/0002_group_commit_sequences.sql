CREATE TABLE `group_commit_sequences` (
	`group_id` text PRIMARY KEY NOT NULL,
	`node_id` integer NOT NULL,
	`broker_epoch` integer NOT NULL,
	`sequence` integer NOT NULL,
	`applied_ms` integer NOT NULL
);
