// Announcement page: while translations are being made or the notice is being sent, reload every
// few seconds so the admin sees them arrive (the page is server-rendered; no data is fetched here).
(function () {
  const waiting = document.querySelector('[data-refresh]');
  if (!waiting) return;
  const editing = () => document.activeElement && ['TEXTAREA', 'INPUT'].includes(document.activeElement.tagName);
  setInterval(() => { if (!editing()) window.location.reload(); }, 5000);
})();
