-- A counter that every change of the agent directory moves, in the changing transaction:
-- routing keeps the directory in memory (its candidate index) and reads it again when the
-- counter moved, whichever replica made the change. One row; statement-level triggers, so
-- an update that replaces an agent's child rows moves it a few times, which is harmless.
CREATE TABLE agent_directory_revision (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  revision  bigint  NOT NULL
);
INSERT INTO agent_directory_revision (singleton, revision) VALUES (true, 0);

CREATE FUNCTION move_agent_directory_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE routing.agent_directory_revision SET revision = revision + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER agents_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agents
  FOR EACH STATEMENT EXECUTE FUNCTION move_agent_directory_revision();
CREATE TRIGGER agent_languages_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON agent_languages FOR EACH STATEMENT EXECUTE FUNCTION move_agent_directory_revision();
CREATE TRIGGER agent_skills_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON agent_skills FOR EACH STATEMENT EXECUTE FUNCTION move_agent_directory_revision();
CREATE TRIGGER agent_certifications_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON agent_certifications FOR EACH STATEMENT EXECUTE FUNCTION move_agent_directory_revision();
CREATE TRIGGER agent_shifts_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON agent_shifts FOR EACH STATEMENT EXECUTE FUNCTION move_agent_directory_revision();
