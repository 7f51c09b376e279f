"""Who calls the API (`identity`) and what they may do there (`access`), as Kubernetes decides."""
