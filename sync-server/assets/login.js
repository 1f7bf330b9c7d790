// The login page: its words in the chosen language and the error the server reported (the server
// writes the error into the page in both languages, so that it shows with JavaScript off too).
"use strict";
function showLoginError() {
  const key = document.body.dataset.error;
  const box = document.getElementById("login-error");
  if (key && hasText("login.error." + key)) {
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
