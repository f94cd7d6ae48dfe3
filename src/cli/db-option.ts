/** The `--db` flag every command that touches the tracker shares: one spelling, one help text. */
export const DB_FLAGS = '--db <file|url>';
export const DB_HELP =
  'tracking database: a SQLite file (or sqlite:<file>) or postgres://user@host/db (default: $LORA_STUDY_DB, else results/experiments.db)';
