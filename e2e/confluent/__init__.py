"""confluent-kafka (the newest librdkafka): the client, its halves of the
scenarios that differ by library, and what only it runs.

- client: Confluent, its producers, consumers and admin client
- admin: the topic admin scenario, IncrementalAlterConfigs
- transactional: its transactional producer (ConfluentTransactional)
- acls: CreateAcls, DescribeAcls and DeleteAcls (ConfluentAcls)
- transactions_restart: transactions and exactly-once across a broker kill
- kip848: a consumer of the KIP-848 protocol and its helpers
- consumer_protocol: the KIP-848 scenarios
- consumer_protocol_restart: a KIP-848 group across a broker kill
"""
