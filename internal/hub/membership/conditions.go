package membership

// Condition reasons, as KubeFleet's hub agent spells them.
const (
	ReasonReadyToJoin      = "MemberClusterReadyToJoin"
	ReasonNotReadyToJoin   = "MemberClusterNotReadyToJoin"
	ReasonJoined           = "MemberClusterJoined"
	ReasonNotJoined        = "MemberClusterNotJoined"
	ReasonLeft             = "MemberClusterLeft"
	ReasonJoinUnknown      = "MemberClusterJoinStateUnknown"
	ReasonHealthy          = "MemberClusterHealthy"
	ReasonUnhealthy        = "MemberClusterUnhealthy"
	ReasonHealthUnknown    = "MemberClusterHealthUnknown"
	ReasonHeartbeatTimeout = "MemberClusterHeartbeatTimeout"
)
