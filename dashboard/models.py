# Models arrive with the dashboard issue.
