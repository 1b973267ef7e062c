"""The web edge: LINE's webhook (signature, shape, enqueue, 200) and the health check.

The app factory stays at bot/app.py (`bot.app:create_app()` is app.yaml's entrypoint); the
advisors' inbox is bot/inbox/, the developer tools' pages bot/devtools/.
"""
