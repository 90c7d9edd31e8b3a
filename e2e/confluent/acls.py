"""ConfluentAcls: CreateAcls, DescribeAcls and DeleteAcls with
confluent-kafka's AdminClient, for the ACL scenario."""

from common import TIMEOUT, acl_tuple


class ConfluentAcls:
    """ACLs with confluent-kafka's AdminClient (create_acls, describe_acls,
    delete_acls with AclBinding and AclBindingFilter)."""

    def __init__(self, client):
        from confluent_kafka import admin

        self.a = admin
        self.client = client
        self.admin = client.admin()

    def binding(self, t):
        a = self.a
        return a.AclBinding(a.ResourceType[t[0]], t[1], a.ResourcePatternType[t[2]], t[3], t[4],
                            a.AclOperation[t[5]], a.AclPermissionType[t[6]])

    @staticmethod
    def shown(b):
        return acl_tuple(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type)

    def filter(self, principal):
        a = self.a
        return a.AclBindingFilter(a.ResourceType.ANY, None, a.ResourcePatternType.ANY, principal, None,
                                  a.AclOperation.ANY, a.AclPermissionType.ANY)

    def create(self, acls):
        """None, or the error of the first ACL refused."""
        bindings = [self.binding(t) for t in sorted(acls)]
        futures = self.admin.create_acls(bindings, request_timeout=TIMEOUT)
        for binding in bindings:
            try:
                futures[binding].result(TIMEOUT)
            except self.client.ck.KafkaException as e:
                return e.args[0]
        return None

    def describe(self):
        return {self.shown(b) for b in self.admin.describe_acls(self.filter(None), request_timeout=TIMEOUT).result(TIMEOUT)}

    def delete(self, principal):
        f = self.filter(principal)
        return {self.shown(b) for b in self.admin.delete_acls([f], request_timeout=TIMEOUT)[f].result(TIMEOUT)}

    @staticmethod
    def code(error):
        return error.name() if error is not None else None
