"""The scenarios the Python clients share, by feature; each takes the
client (Confluent, KafkaPython or Kcat) and does what that client's
library does where they differ.

- records: produce and consume, idempotence, codecs, list offsets, restart
- groups: a group commits and resumes; two consumers share a group
- admin: topic admin, cluster metadata
- cleanup: retention and compaction
- transactions: KIP-98 transactions, KIP-447 exactly-once, fencing
- security: SSL, mutual TLS, SASL_PLAINTEXT and SASL_SSL listeners
- acls: ACL authorization
"""
