-- Lower-cased display name, computed in Rust (SQLite's LOWER folds ASCII
-- only), so the admin search ignores case the same way on both backends.
ALTER TABLE users ADD COLUMN display_name_key TEXT;
UPDATE users SET display_name_key = LOWER(display_name) WHERE display_name IS NOT NULL;
