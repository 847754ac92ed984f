"""Args of monitoring: Prometheus, Alertmanager and its receivers, Grafana and its logs."""

from __future__ import annotations

import pulumi

from infra.components.alerting import AlertReceivers, EmailReceiver, SlackReceiver
from infra.components.cluster import EksCluster
from infra.components.log_shipping import LogShipping
from infra.components.log_store import LogStore
from infra.components.monitoring import GrafanaLogs, MonitoringArgs
from infra.components.monitoring_files import GrafanaAccess, GrafanaSso, PrometheusSizing
from infra.components.scheduling import GP3_STORAGE_CLASS
from infra.components.tracking import Tracking
from infra.components.workloads import Namespaces, RetrainTrigger
from infra.config import ClusterSecrets, StackConfig
from infra.config.monitoring import GrafanaSsoConfig
from infra.config.secrets import AlertSecrets


def _receivers(config: StackConfig, alerts: AlertSecrets) -> AlertReceivers[pulumi.Input[str]]:
    # The loader has refused a receiver whose secret is missing.
    receivers = config.monitoring.receivers
    slack, email = receivers.slack, receivers.email
    return AlertReceivers(
        webhook_url=alerts.webhook_url if receivers.webhook else None,
        slack=SlackReceiver(channel=slack.channel, api_url=alerts.slack_webhook_url)
        if slack is not None and alerts.slack_webhook_url is not None
        else None,
        email=EmailReceiver(
            to=email.to,
            sender=email.sender,
            smarthost=email.smarthost,
            login=(email.username, alerts.smtp_password)
            if email.username and alerts.smtp_password is not None
            else None,
        )
        if email is not None
        else None,
    )


def monitoring(
    config: StackConfig,
    secrets: ClusterSecrets,
    alerts: AlertSecrets,
    cluster: EksCluster,
    spaces: Namespaces,
    trigger: RetrainTrigger,
    logs: tuple[LogStore, LogShipping],
    tracking: Tracking | None,
) -> MonitoringArgs:
    settings, grafana = config.monitoring, config.monitoring.grafana
    store, shipping = logs
    return MonitoringArgs(
        k8s_provider=cluster.kubernetes_provider,
        namespace=spaces.monitoring,
        serving_namespace=spaces.serving,
        training_namespace=spaces.training,
        tracking_namespace=tracking.namespace if tracking is not None else None,
        models=[model.name for model in config.app.models],
        retrain_webhook_urls=trigger.urls,
        retrain_webhook_token=secrets.retrain_webhook_token,
        grafana_admin_password=secrets.grafana_admin_password,
        grafana_sso_client_secret=secrets.grafana_sso_client_secret,
        receivers=_receivers(config, alerts),
        sizing=PrometheusSizing(
            retention_days=settings.retention_days,
            storage_size=settings.storage_size,
            storage_class=settings.storage_class or GP3_STORAGE_CLASS,
            prometheus_replicas=settings.prometheus_replicas,
            alertmanager_replicas=settings.alertmanager_replicas,
        ),
        drift_minutes=settings.drift_minutes,
        grafana=GrafanaAccess(
            load_balancer=grafana.load_balancer,
            host=grafana.host,
            certificate_arn=grafana.certificate_arn,
            internet_facing=grafana.internet_facing,
            sso=_sso(grafana.sso),
        ),
        logs=GrafanaLogs(
            region=config.aws.region,
            log_group_name=store.container_log_group.name,
            log_group_arn=store.container_log_group.arn,
            reader_role_arn=shipping.reader_role_arn,
        ),
        vpc_cidr=config.network.cidr,
    )


def _sso(sso: GrafanaSsoConfig | None) -> GrafanaSso | None:
    if sso is None:
        return None
    return GrafanaSso(
        name=sso.name,
        client_id=sso.client_id,
        auth_url=sso.auth_url,
        token_url=sso.token_url,
        api_url=sso.api_url,
        scopes=sso.scopes,
        allowed_domains=list(sso.allowed_domains),
        role_attribute_path=sso.role_attribute_path,
    )
