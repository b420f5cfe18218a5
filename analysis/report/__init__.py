"""What people look at: the figures, the HTML report pages and their assets, the --paper preset."""
