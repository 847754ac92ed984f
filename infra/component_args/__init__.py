"""The one mapping from the typed stack config to each component's args.

Config (infra/config/) owns every default and every rule; components (infra/components/) take
explicit args and import nothing of the config. Each function here builds one component's args
from the config and the outputs of the components it depends on (a module per area), so
`platform.py` shows only components, and a setting is traced to its effect in one place.
It sits beside both rather than inside infra/config, so that the config stays plain validated
data that the tools and the config reference read without importing a component.
"""

from infra.component_args.cluster import (
    capacity,
    cluster_addons,
    eks_cluster,
    log_shipping,
    retrain_trigger_role,
    serving_role,
    training_role,
)
from infra.component_args.foundation import (
    has_log_store,
    log_store,
    model_store,
    network,
    stack_name,
)
from infra.component_args.monitoring import monitoring
from infra.component_args.tracking import has_tracking, tracking
from infra.component_args.workflows import has_workflows, workflows
from infra.component_args.workloads import namespaces, retrain_trigger, serving, training

__all__ = [
    "capacity",
    "cluster_addons",
    "eks_cluster",
    "has_log_store",
    "has_tracking",
    "has_workflows",
    "log_shipping",
    "log_store",
    "model_store",
    "monitoring",
    "namespaces",
    "network",
    "retrain_trigger",
    "retrain_trigger_role",
    "serving",
    "serving_role",
    "stack_name",
    "tracking",
    "training",
    "training_role",
    "workflows",
]
