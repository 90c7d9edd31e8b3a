"""kafka-python: the client and its halves of the scenarios that differ by
library.

- client: KafkaPython, its producers, consumers and admin client
- admin: the topic admin scenario, AlterConfigs
- transactional: its transactional producer (KafkaPythonTransactional)
- acls: CreateAcls, DescribeAcls and DeleteAcls (KafkaPythonAcls)
"""
