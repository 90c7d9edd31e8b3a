//! The error codes a response carries, for `kafka_network_request_errors`:
//! the top-level code and those of every topic, partition, group or member
//! entry in it, zeros included (the metrics skip them). Nested config or
//! record errors (CreateTopics' `topic_config_error_code`, Produce's
//! `record_errors`) are left out: they repeat the entry's own code.

use kafka_protocol::messages::*;

/// Visits the error codes of a response.
pub trait ErrorCodes {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16));
}

macro_rules! top_level_only {
    ($($response:ty),* $(,)?) => {$(
        impl ErrorCodes for $response {
            fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
                f(self.error_code);
            }
        }
    )*};
}

top_level_only!(
    ApiVersionsResponse,
    HeartbeatResponse,
    SyncGroupResponse,
    JoinGroupResponse,
    InitProducerIdResponse,
    ListGroupsResponse,
    DescribeClusterResponse,
    AddOffsetsToTxnResponse,
    EndTxnResponse,
    ListTransactionsResponse,
    ListConfigResourcesResponse,
    SaslHandshakeResponse,
    SaslAuthenticateResponse,
);

impl ErrorCodes for AddPartitionsToTxnResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        let topics = self.results_by_topic_v3_and_below.iter().chain(
            self.results_by_transaction
                .iter()
                .flat_map(|t| &t.topic_results),
        );
        for topic in topics {
            topic
                .results_by_partition
                .iter()
                .for_each(|p| f(p.partition_error_code));
        }
    }
}

impl ErrorCodes for AlterUserScramCredentialsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for DescribeUserScramCredentialsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for TxnOffsetCommitResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for DescribeTransactionsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.transaction_states.iter().for_each(|t| f(t.error_code));
    }
}

impl ErrorCodes for DescribeProducersResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for OffsetForLeaderEpochResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for ElectLeadersResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.replica_election_results {
            topic.partition_result.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for AlterPartitionReassignmentsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.responses {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for ListPartitionReassignmentsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
    }
}

impl ErrorCodes for ProduceResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.responses {
            topic
                .partition_responses
                .iter()
                .for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for FetchResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.responses {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for ListOffsetsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for MetadataResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.topics {
            f(topic.error_code);
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for DescribeTopicPartitionsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            f(topic.error_code);
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for CreateTopicsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.topics.iter().for_each(|t| f(t.error_code));
    }
}

impl ErrorCodes for DeleteTopicsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.responses.iter().for_each(|t| f(t.error_code));
    }
}

impl ErrorCodes for AlterConfigsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.responses.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for IncrementalAlterConfigsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.responses.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for DeleteRecordsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for CreatePartitionsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.results.iter().for_each(|t| f(t.error_code));
    }
}

impl ErrorCodes for DescribeConfigsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for FindCoordinatorResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        // v0-3 answer at the top level, v4+ per coordinator key.
        f(self.error_code);
        self.coordinators.iter().for_each(|c| f(c.error_code));
    }
}

impl ErrorCodes for LeaveGroupResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        self.members.iter().for_each(|m| f(m.error_code));
    }
}

impl ErrorCodes for OffsetCommitResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for OffsetFetchResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        // v0-7 have one group at the top level, v8+ a list of groups.
        f(self.error_code);
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
        for group in &self.groups {
            f(group.error_code);
            for topic in &group.topics {
                topic.partitions.iter().for_each(|p| f(p.error_code));
            }
        }
    }
}

impl ErrorCodes for DescribeGroupsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.groups.iter().for_each(|g| f(g.error_code));
    }
}

impl ErrorCodes for DescribeLogDirsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for AlterReplicaLogDirsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for topic in &self.results {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for WriteTxnMarkersResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for marker in &self.markers {
            for topic in &marker.topics {
                topic.partitions.iter().for_each(|p| f(p.error_code));
            }
        }
    }
}

impl ErrorCodes for UpdateFeaturesResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for DescribeQuorumResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for OffsetDeleteResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.topics {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for DeleteGroupsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.results.iter().for_each(|g| f(g.error_code));
    }
}

impl ErrorCodes for DescribeAclsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
    }
}

impl ErrorCodes for CreateAclsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for DeleteAclsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.filter_results.iter().for_each(|r| f(r.error_code));
    }
}

impl ErrorCodes for ConsumerGroupHeartbeatResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
    }
}

impl ErrorCodes for ConsumerGroupDescribeResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.groups.iter().for_each(|g| f(g.error_code));
    }
}

impl ErrorCodes for ShareGroupHeartbeatResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
    }
}

impl ErrorCodes for ShareFetchResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.responses {
            for p in &topic.partitions {
                f(p.error_code);
                f(p.acknowledge_error_code);
            }
        }
    }
}

impl ErrorCodes for ShareAcknowledgeResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.responses {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for ShareGroupDescribeResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        self.groups.iter().for_each(|g| f(g.error_code));
    }
}

impl ErrorCodes for DescribeShareGroupOffsetsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        for group in &self.groups {
            f(group.error_code);
            for topic in &group.topics {
                topic.partitions.iter().for_each(|p| f(p.error_code));
            }
        }
    }
}

impl ErrorCodes for AlterShareGroupOffsetsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        for topic in &self.responses {
            topic.partitions.iter().for_each(|p| f(p.error_code));
        }
    }
}

impl ErrorCodes for DeleteShareGroupOffsetsResponse {
    fn for_each_error_code(&self, f: &mut dyn FnMut(i16)) {
        f(self.error_code);
        self.responses.iter().for_each(|t| f(t.error_code));
    }
}
