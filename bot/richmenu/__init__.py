"""Rich menus as content: one menu per language drawn from flows/richmenu.yaml and the locales,
deployed to LINE with the SDK, and linked to each parent in her language."""
