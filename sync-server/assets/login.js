// The login page: its words in the chosen language and the error the server reported.
"use strict";
function showLoginError() {
  const key = document.body.dataset.error;
  const box = document.getElementById("login-error");
  if (key) {
    box.textContent = t("login.error." + key);
    box.hidden = false;
  }
}
document.addEventListener("DOMContentLoaded", () => {
  applyText();
  showLoginError();
  document.getElementById("lang").addEventListener("click", () => {
    switchLang();
    showLoginError();
  });
});
