"""Strategic-merge schemas of the kinds the local cluster serves, from the Kubernetes 1.37 OpenAPI.

Only lists that are not atomic need an entry: `x-kubernetes-patch-merge-key` lists become
`merge_key`, `patchStrategy: merge` lists of primitives become `set_list`. Any list not named
here is replaced whole by a strategic merge patch, as on a real server (notably
`status.containerStatuses` and `status.ephemeralContainerStatuses`, which are atomic).
Workloads reuse the pod spec's schema under their pod template (`spec.template.spec`).
A test checks every kind's schema against the OpenAPI definitions shipped with
`kubernetes-validate`.
"""

from __future__ import annotations

from host.localcluster.patch import MergeSchema

METADATA = MergeSchema(
    fields={
        "finalizers": MergeSchema(set_list=True),
        "ownerReferences": MergeSchema(merge_key="uid"),
    }
)

_CONTAINER_FIELDS = {
    "env": MergeSchema(merge_key="name"),
    "ports": MergeSchema(merge_key="containerPort"),
    "volumeMounts": MergeSchema(merge_key="mountPath"),
    "volumeDevices": MergeSchema(merge_key="devicePath"),
}

POD_SPEC = MergeSchema(
    fields={
        "containers": MergeSchema(merge_key="name", fields=_CONTAINER_FIELDS),
        "initContainers": MergeSchema(merge_key="name", fields=_CONTAINER_FIELDS),
        "ephemeralContainers": MergeSchema(merge_key="name", fields=_CONTAINER_FIELDS),
        "volumes": MergeSchema(
            merge_key="name",
            fields={
                "ephemeral": MergeSchema(
                    fields={"volumeClaimTemplate": MergeSchema(fields={"metadata": METADATA})}
                )
            },
        ),
        "imagePullSecrets": MergeSchema(merge_key="name"),
        "hostAliases": MergeSchema(merge_key="ip"),
        "resourceClaims": MergeSchema(merge_key="name"),
        "schedulingGates": MergeSchema(merge_key="name"),
        "topologySpreadConstraints": MergeSchema(merge_key="topologyKey"),
        "evictionResponders": MergeSchema(merge_key="name"),
    }
)

POD = MergeSchema(
    fields={
        "metadata": METADATA,
        "spec": POD_SPEC,
        "status": MergeSchema(
            fields={
                "conditions": MergeSchema(merge_key="type"),
                "podIPs": MergeSchema(merge_key="ip"),
                "hostIPs": MergeSchema(merge_key="ip"),
                "resourceClaimStatuses": MergeSchema(merge_key="name"),
                "nodeAllocatableResourceClaimStatuses": MergeSchema(
                    merge_key="resourceClaimName",
                    fields={
                        "mapping": MergeSchema(merge_key="name"),
                        "overhead": MergeSchema(merge_key="name"),
                    },
                ),
            }
        ),
    }
)

NAMESPACE = MergeSchema(
    fields={"metadata": METADATA, "status": MergeSchema(fields={"conditions": MergeSchema(merge_key="type")})}
)

NODE = MergeSchema(
    fields={
        "metadata": METADATA,
        "spec": MergeSchema(fields={"taints": MergeSchema(), "podCIDRs": MergeSchema(set_list=True)}),
        "status": MergeSchema(
            fields={"conditions": MergeSchema(merge_key="type"), "addresses": MergeSchema(merge_key="type")}
        ),
    }
)

PLAIN = MergeSchema(fields={"metadata": METADATA})

_CONDITIONS = MergeSchema(fields={"conditions": MergeSchema(merge_key="type")})

WITH_STATUS_CONDITIONS = MergeSchema(fields={"metadata": METADATA, "status": _CONDITIONS})
"""Kinds whose only mergeable list is `status.conditions` (PodDisruptionBudget, HPA)."""

POD_TEMPLATE = MergeSchema(fields={"metadata": METADATA, "spec": POD_SPEC})

DEPLOYMENT = MergeSchema(
    fields={
        "metadata": METADATA,
        "spec": MergeSchema(fields={"template": POD_TEMPLATE}),
        "status": _CONDITIONS,
    }
)
REPLICASET = DEPLOYMENT
DAEMONSET = DEPLOYMENT

_PVC_STATUS = MergeSchema(
    fields={
        "conditions": MergeSchema(merge_key="type"),
        "healthStatus": MergeSchema(fields={"healthConditions": MergeSchema(merge_key="status")}),
    }
)

PERSISTENTVOLUMECLAIM = MergeSchema(fields={"metadata": METADATA, "status": _PVC_STATUS})

STATEFULSET = MergeSchema(
    fields={
        "metadata": METADATA,
        # volumeClaimTemplates is an atomic list: a patch replaces it whole.
        "spec": MergeSchema(fields={"template": POD_TEMPLATE}),
        "status": _CONDITIONS,
    }
)

_JOB_SPEC = MergeSchema(
    fields={
        "template": POD_TEMPLATE,
        "scheduling": MergeSchema(fields={"resourceClaims": MergeSchema(merge_key="name")}),
    }
)

JOB = MergeSchema(fields={"metadata": METADATA, "spec": _JOB_SPEC, "status": _CONDITIONS})

CRONJOB = MergeSchema(
    fields={
        "metadata": METADATA,
        "spec": MergeSchema(
            fields={"jobTemplate": MergeSchema(fields={"metadata": METADATA, "spec": _JOB_SPEC})}
        ),
    }
)

SERVICE = MergeSchema(
    fields={
        "metadata": METADATA,
        "spec": MergeSchema(fields={"ports": MergeSchema(merge_key="port")}),
        "status": _CONDITIONS,
    }
)

SERVICEACCOUNT = MergeSchema(fields={"metadata": METADATA, "secrets": MergeSchema(merge_key="name")})
