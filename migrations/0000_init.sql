CREATE TABLE `cluster` (
	`id` integer PRIMARY KEY NOT NULL,
	`cluster_id` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `command_log` (
	`index` integer PRIMARY KEY NOT NULL,
	`appended_at_ms` integer NOT NULL,
	`command` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `data_nodes` (
	`node_id` integer PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`kafka_port` integer NOT NULL,
	`rack` text,
	`incarnation_id` text NOT NULL,
	`broker_epoch` integer NOT NULL,
	`fenced` integer NOT NULL,
	`registered_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `group_offsets` (
	`group_id` text NOT NULL,
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`offset` text NOT NULL,
	`leader_epoch` integer NOT NULL,
	`metadata` text DEFAULT '' NOT NULL,
	`commit_time_ms` integer NOT NULL,
	PRIMARY KEY(`group_id`, `topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `metadata_changes` (
	`version` integer PRIMARY KEY NOT NULL,
	`change` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `partitions` (
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`replicas` text NOT NULL,
	`leader` integer NOT NULL,
	`leader_epoch` integer NOT NULL,
	`isr` text NOT NULL,
	`partition_epoch` integer NOT NULL,
	PRIMARY KEY(`topic`, `partition`)
);
--> statement-breakpoint
CREATE TABLE `topics` (
	`name` text PRIMARY KEY NOT NULL,
	`topic_id` text NOT NULL,
	`configs` text NOT NULL,
	`created_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `topics_topic_id_unique` ON `topics` (`topic_id`);