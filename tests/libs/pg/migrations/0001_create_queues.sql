-- Queues of tickets waiting for an agent.
CREATE TABLE queues (
  id bigint PRIMARY KEY,
  name text NOT NULL CHECK (name <> '')
);
