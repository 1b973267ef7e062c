// A case page: shows a banner when the user writes again, keeps the newest message in view,
// and puts a canned reply into the reply box.
(() => {
  const banner = document.getElementById('new-messages');
  if (banner && banner.dataset.countUrl) {
    const shown = Number(banner.dataset.shown);
    setInterval(async () => {
      try {
        const r = await fetch(banner.dataset.countUrl);
        if (r.ok && (await r.json()).messages > shown) banner.hidden = false;
      } catch (e) { /* offline for a moment */ }
    }, 5000);
  }
  const conversation = document.getElementById('conversation');
  if (conversation) conversation.scrollTop = conversation.scrollHeight;      // the newest message first in view
  document.querySelectorAll('.canned').forEach(b => b.addEventListener('click', async () => {
    const r = await fetch(b.dataset.url); const j = await r.json();
    const t = document.getElementById('reply_text'); if (t) { t.value = j.text; t.focus(); }
  }));
})();
