"""KafkaPythonAcls: CreateAcls, DescribeAcls and DeleteAcls with
kafka-python's KafkaAdminClient, for the ACL scenario."""

from common import acl_tuple, bounded, check


class KafkaPythonAcls:
    """ACLs with kafka-python's KafkaAdminClient (create_acls, describe_acls,
    delete_acls with ACL, ACLFilter and ResourcePattern)."""

    def __init__(self, client):
        import kafka.admin

        self.a = kafka.admin
        self.admin = bounded(client.admin)

    def acl(self, t):
        a = self.a
        return a.ACL(principal=t[3], host=t[4], operation=a.ACLOperation[t[5]], permission_type=a.ACLPermissionType[t[6]],
                     resource_pattern=a.ResourcePattern(a.ResourceType[t[0]], t[1], a.ACLResourcePatternType[t[2]]))

    @staticmethod
    def shown(acl):
        p = acl.resource_pattern
        return acl_tuple(p.resource_type, p.resource_name, p.pattern_type, acl.principal, acl.host, acl.operation, acl.permission_type)

    def filter(self, principal):
        a = self.a
        return a.ACLFilter(principal=principal, host=None, operation=a.ACLOperation.ANY,
                           permission_type=a.ACLPermissionType.ANY,
                           resource_pattern=a.ResourcePatternFilter(a.ResourceType.ANY, None, a.ACLResourcePatternType.ANY))

    def create(self, acls):
        result = bounded(lambda: self.admin.create_acls([self.acl(t) for t in sorted(acls)]))
        check(len(result["succeeded"]) + len(result["failed"]) == len(acls), f"create_acls answered {result}")
        return result["failed"][0]() if result["failed"] else None  # an error class: made an error

    def describe(self):
        found, _ = bounded(lambda: self.admin.describe_acls(self.filter(None)))  # raises on an error
        return {self.shown(acl) for acl in found}

    def delete(self, principal):
        ((_, deleted, error),) = bounded(lambda: self.admin.delete_acls([self.filter(principal)]))
        check(error.errno == 0, f"delete_acls: {error.__name__}")
        return {self.shown(acl) for acl in deleted}

    @staticmethod
    def code(error):
        return None if error is None else type(error).__name__
