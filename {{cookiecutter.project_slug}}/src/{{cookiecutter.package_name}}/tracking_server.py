"""This project logs to a shared MLflow tracking server: it was baked with
`mlflow_tracking: server`. While this module exists, `tracking.configure` warns when
MLFLOW_TRACKING_URI is not set and runs would land in the local SQLite store instead. Delete
it to make that store the expected default."""
