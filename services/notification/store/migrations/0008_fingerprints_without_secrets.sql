-- Request fingerprints no longer include the webhook secret (a stored digest of it could be
-- checked against guesses of a weak secret); a replay's secret is compared with the stored,
-- sealed one instead. The older digests, which include it, are removed: a replay of such a
-- record compares only the secret (see SubscriptionService::Create).
UPDATE subscriptions SET request_fingerprint = NULL
  WHERE request_fingerprint IS NOT NULL AND request_fingerprint NOT LIKE 'v2:%';
