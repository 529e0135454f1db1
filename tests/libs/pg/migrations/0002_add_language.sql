ALTER TABLE queues ADD COLUMN language text NOT NULL DEFAULT 'en';
COMMENT ON COLUMN queues.language IS 'BCP 47 tag, e.g. ''pt-BR'' — not "pt_br"; a backslash: \';
CREATE FUNCTION queue_label(q queues) RETURNS text LANGUAGE sql AS $$
  SELECT q.name || ' (' || q.language || ')'
$$;
