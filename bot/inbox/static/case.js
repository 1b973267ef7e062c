// A case page: shows a banner when the user writes again, keeps the newest message in view,
// fills in Japanese translations as the worker makes them, and puts a canned reply into the reply box.
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
  pollTranslations(conversation);
  document.querySelectorAll('.canned').forEach(b => b.addEventListener('click', async () => {
    const r = await fetch(b.dataset.url); const j = await r.json();
    const t = document.getElementById('reply_text'); if (t) { t.value = j.text; t.focus(); }
  }));

  // Messages marked 翻訳中… are translated by a background job: ask every 2 s (for up to 10 minutes)
  // and show each translation, or the "retry" form if the job gave up.
  function pollTranslations(root) {
    if (!root || !root.dataset.translationsUrl) return;
    let rounds = 0;
    const timer = setInterval(async () => {
      const waiting = [...root.querySelectorAll('.translation-pending:not([hidden])')];
      if (!waiting.length || ++rounds > 300) { clearInterval(timer); return; }
      const ids = waiting.map(el => el.dataset.messageId).join(',');
      try {
        const r = await fetch(`${root.dataset.translationsUrl}?ids=${ids}`);
        if (!r.ok) return;
        const states = (await r.json()).translations;
        waiting.forEach(el => showTranslation(root, el, states[el.dataset.messageId]));
      } catch (e) { /* offline for a moment */ }
    }, 2000);
  }

  function showTranslation(root, pending, state) {
    if (!state || state.state === 'pending') return;
    if (state.state === 'done') {
      const done = document.createElement('div');
      done.className = 'ja'; done.lang = 'ja';
      done.textContent = `日本語訳: ${state.text}`;
      pending.replaceWith(done);
    } else {
      pending.hidden = true;
      const failed = root.querySelector(`.translation-failed[data-message-id="${pending.dataset.messageId}"]`);
      if (failed) failed.hidden = false;
    }
  }
})();
