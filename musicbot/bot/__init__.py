"""The Discord side: client, (later) slash commands, views and checks."""
