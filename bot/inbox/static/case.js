// A case page: new messages and changes appear by themselves (live feed from live.js), the
// newest message stays in view, canned replies go in at the cursor, and the page tells the
// others that this advisor is looking.
// Messages marked 翻訳中… get their Japanese translation from a background job (polled below).
(() => {
  const page = document.getElementById('case-page');
  if (!page) return;
  const caseId = Number(page.dataset.case);
  const conversation = document.getElementById('conversation');
  const csrf = document.querySelector('input[name=csrf_token]').value;
  let lastMessage = Number(page.dataset.lastMessage) || 0;
  let loading = null;
  // The priority and topic pickers follow the case (an escalation raises both) until the advisor
  // picks a value herself: "change priority" must never put back the level the page opened with.
  const pickers = ['priority', 'topic'].map(name => document.querySelector(`#actions select[name=${name}]`))
    .filter(Boolean);
  pickers.forEach(p => p.addEventListener('change', () => { p.dataset.touched = '1'; }));

  if (conversation) conversation.scrollTop = conversation.scrollHeight;      // the newest message first in view
  pollTranslations(conversation);

  async function refresh() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const r = await fetch(`${page.dataset.updatesUrl}?after=${lastMessage}`);
        if (!r.ok) return;
        const data = await r.json();
        const atBottom = conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 40;
        if (data.messages.trim()) {
          const before = conversation.children.length;
          conversation.insertAdjacentHTML('beforeend', data.messages);   // server-rendered, escaped
          pollTranslations(conversation);
          const alarming = [...conversation.children].slice(before).filter(m => m.classList.contains('escalated'));
          if (alarming.length) {                 // the message that raised the alarm, not the bot's answer below it
            conversation.scrollTop = alarming[alarming.length - 1].offsetTop - conversation.offsetTop - 8;
          } else if (atBottom) conversation.scrollTop = conversation.scrollHeight;
        }
        lastMessage = Math.max(lastMessage, data.last);
        document.getElementById('case-header').outerHTML = data.header;
        pickers.forEach(p => { if (!p.dataset.touched && data[p.name]) p.value = data[p.name]; });
      } finally { loading = null; }
    })();
    return loading;
  }
  document.addEventListener('inbox-live', e => { if (e.detail.case === caseId) refresh(); });

  async function heartbeat(leaving) {
    const body = new URLSearchParams({csrf_token: csrf});
    if (leaving) body.set('leaving', '1');
    try {
      const r = await fetch(page.dataset.presenceUrl, {method: 'POST', body, keepalive: !!leaving});
      if (!r.ok || leaving) return;
      const others = (await r.json()).viewers;
      const box = document.getElementById('viewers');
      if (box) box.textContent = others.length ? 'いま見ている人: ' + others.join('、') : '';
    } catch (e) { /* offline for a moment */ }
  }
  heartbeat(false);
  setInterval(() => heartbeat(false), 15000);
  window.addEventListener('pagehide', () => heartbeat(true));

  // Canned replies: searchable; inserted where the cursor is, never replacing what was typed.
  const reply = document.getElementById('reply_text');
  let cursor = null;
  if (reply) ['keyup', 'click', 'select', 'blur'].forEach(k => reply.addEventListener(k, () => {
    cursor = [reply.selectionStart, reply.selectionEnd];
  }));
  document.querySelectorAll('.canned').forEach(b => b.addEventListener('click', async () => {
    const r = await fetch(b.dataset.url); const j = await r.json();
    if (!reply) return;
    const [start, end] = cursor || [reply.value.length, reply.value.length];
    reply.setRangeText(j.text, start, end, 'end');
    cursor = [reply.selectionStart, reply.selectionEnd];
    reply.focus();
  }));
  const search = document.getElementById('canned-search');
  if (search) search.addEventListener('input', () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll('.canned').forEach(b => {
      const title = b.dataset.title.toLowerCase();
      b.hidden = !words.every(w => title.includes(w));
    });
  });
  const barReply = document.getElementById('bar-reply');
  if (barReply && reply) barReply.addEventListener('click', e => {
    e.preventDefault();
    reply.scrollIntoView({block: 'center'}); reply.focus();
  });

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
