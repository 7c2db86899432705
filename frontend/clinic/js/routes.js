// Every page of the workspace. A feature adds its screens here (one line each); see
// /tmp/anagen-coord/clinic-ui.md → "Adding a screen".
import { route } from "./router.js";
import { Dashboard } from "./screens/dashboard.js";
import { Enrol } from "./screens/enrol.js";
import { PatientPage } from "./screens/patient.js";
import { InviteScreen } from "./screens/invite.js";
import { StaffAdmin, SettingsAdmin, AuditLog } from "./screens/admin.js";
import { PhotoCompare } from "./screens/photo-compare.js";
import { AwaitingReview } from "./screens/photo-review.js";

route("/", Dashboard, { title: "Patients", nav: "patients" });
route("/enrol", Enrol, { title: "Enrol a patient", nav: "enrol" });
route("/patients/:id", PatientPage, { title: "Patient", nav: "patients" });
route("/patients/:id/invite", InviteScreen, { title: "Invite", nav: "patients" });
route("/patients/:id/photos/:view", PhotoCompare, { title: "Compare photos", nav: "patients" });
route("/photos", AwaitingReview, { title: "Photos awaiting review", nav: "photos" });
route("/admin/staff", StaffAdmin, { title: "Staff", nav: "admin", admin: true });
route("/admin/settings", SettingsAdmin, { title: "Clinic settings", nav: "admin", admin: true });
route("/admin/audit", AuditLog, { title: "Audit log", nav: "admin", admin: true });
