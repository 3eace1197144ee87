// The widget's config for the demo page. A site would write this object inline or in
// its own file; the demo page's CSP forbids inline scripts, so it lives here.
// ?lang=de|fr and ?transport=flex|basic on the page's address override for testing.
(function () {
  "use strict";
  var q = new URLSearchParams(location.search);
  var config = {
    title: "Acme support",
    testHooks: true,
    userData: { Page: location.pathname },
  };
  if (q.get("lang")) config.lang = q.get("lang");
  if (q.get("transport")) config.transport = q.get("transport");
  window.ParleyChat = config;
})();
