# Models arrive with the payments issue.
