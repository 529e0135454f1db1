-- Webhook secrets encrypted at rest (AES-256-GCM, see store/secret_box.h): the key id and
-- nonce || ciphertext || tag. A row with no key id still holds its secret in webhook_secret
-- (written before keys were configured); the service reseals such rows at start-up when
-- --webhook-secret-keys is set, and clears webhook_secret as it does.
ALTER TABLE subscriptions
  ADD COLUMN webhook_secret_key_id text,
  ADD COLUMN webhook_secret_sealed bytea,
  ADD CONSTRAINT subscriptions_sealed_secret
    CHECK ((webhook_secret_key_id IS NULL) = (webhook_secret_sealed IS NULL));

CREATE INDEX subscriptions_secret_key ON subscriptions (webhook_secret_key_id)
  WHERE channel = 1;
