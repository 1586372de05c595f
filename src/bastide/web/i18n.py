"""French and English for the pages: one table of messages, French first (the platform's language).

The language comes from `?lang=`, then the `lang` cookie, then the browser's Accept-Language."""

from __future__ import annotations

LANGUAGES = ("fr", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "catalogue": ("Catalogue", "Catalogue"),
    "register": ("Registre public", "Public register"),
    "calls": ("Appels à projets", "Calls for projects"),
    "my_applications": ("Demandes", "Applications"),
    "queue": ("File d'instruction", "Instruction queue"),
    "sign_in": ("Se connecter", "Sign in"),
    "sign_out": ("Se déconnecter", "Sign out"),
    "email": ("Adresse électronique", "E-mail"),
    "password": ("Mot de passe", "Password"),
    "code": ("Code à usage unique (application d'authentification) ou code de secours",
             "One-time code (authenticator app) or recovery code"),
    "activate": ("Activer mon compte", "Activate my account"),
    "choose_password": ("Choisissez un mot de passe (12 caractères au moins)", "Choose a password (at least 12 characters)"),
    "current_password": ("Votre mot de passe actuel", "Your current password"),
    "reset_mfa_hint": ("Votre application d'authentification a été réinitialisée : confirmez avec votre mot de passe, "
                       "puis enrôlez-en une nouvelle.",
                       "Your authenticator app was reset: confirm with your password, then enrol a new one."),
    "reset_password_hint": ("Votre mot de passe a été réinitialisé : donnez un code de votre application "
                            "d'authentification (ou un code de secours), puis un nouveau mot de passe.",
                            "Your password was reset: give a code of your authenticator app (or a recovery code), "
                            "then a new password."),
    "continue": ("Continuer", "Continue"),
    "scan_qr": ("Scannez ce code avec votre application d'authentification (ou saisissez l'adresse ci-dessous), "
                "puis tapez le code qu'elle affiche.",
                "Scan this code with your authenticator app (or type the address below), then type the code it shows."),
    "recovery_codes": ("Codes de secours : notez-les maintenant, chacun ne sert qu'une fois et ils ne seront plus affichés.",
                       "Recovery codes: write them down now; each works once and they will not be shown again."),
    "confirm": ("Confirmer", "Confirm"),
    "activated": ("Compte activé : connectez-vous.", "Account activated: sign in."),
    "terms_title": ("Conditions d'utilisation", "Terms of use"),
    "terms_text": ("Vous accédez à une plateforme de données de santé. Vous n'utilisez les données que pour la finalité "
                   "autorisée par votre permis, vous ne tentez pas de réidentifier des personnes, et toutes vos actions "
                   "sont tracées et conservées.",
                   "You are entering a health data platform. You use data only for the purpose your permit allows, you "
                   "do not attempt to re-identify anyone, and every action you take is traced and kept."),
    "accept": ("J'accepte", "I accept"),
    "version": ("Version", "Version"),
    "new_application": ("Nouvelle demande", "New application"),
    "title": ("Titre", "Title"),
    "procedure": ("Procédure", "Procedure"),
    "create": ("Créer", "Create"),
    "reference": ("Référence", "Reference"),
    "status": ("État", "Status"),
    "organisation": ("Organisme", "Organisation"),
    "decision_due": ("Décision attendue le", "Decision due on"),
    "overdue": ("en retard", "overdue"),
    "none": ("aucune", "none"),
    "save": ("Enregistrer", "Save"),
    "form": ("Formulaire (art. 67 EHDS)", "Form (EHDS Art. 67)"),
    "actions": ("Actions", "Actions"),
    "justification": ("Justification (obligatoire pour un refus ou une demande de compléments)",
                      "Justification (mandatory to refuse or ask for information)"),
    "history": ("Historique", "History"),
    "decision_screen": ("Écran de décision", "Decision screen"),
    "criteria": ("Critères de l'art. 68(1)", "Art. 68(1) criteria"),
    "met": ("rempli", "met"),
    "not_met": ("non rempli", "not met"),
    "note": ("Note", "Note"),
    "opinions": ("Avis et autorisations", "Opinions and authorisations"),
    "ethics": ("Avis du CESREES", "CESREES opinion"),
    "cnil": ("Autorisation CNIL ou déclaration MR", "CNIL authorisation or MR declaration"),
    "date": ("Date", "Date"),
    "outcome": ("Sens", "Outcome"),
    "record": ("Enregistrer", "Record"),
    "permit": ("Permis d'accès", "Data permit"),
    "valid_from": ("Valable du", "Valid from"),
    "valid_until": ("au", "until"),
    "download_signed": ("Télécharger le permis signé", "Download the signed permit"),
    "verify_hint": ("Vérifiable hors ligne : bastide permits verify FICHIER --public-key bastide.pub",
                    "Verifiable offline: bastide permits verify FILE --public-key bastide.pub"),
    "received_on": ("Reçue le", "Received on"),
    "decision": ("Décision", "Decision"),
    "export": ("Télécharger", "Download"),
    "register_intro": ("Toutes les demandes d'accès dès leur réception, les décisions motivées et les permis délivrés "
                       "(art. 57 et 58 EHDS). Aucune donnée personnelle n'y figure.",
                       "Every access application from receipt, reasoned decisions and permits issued (EHDS Arts. 57 "
                       "and 58). No personal data appears here."),
    "theme": ("Thème", "Theme"),
    "open_from": ("Ouvert du", "Open from"),
    "to": ("au", "to"),
    "open": ("ouvert", "open"),
    "closed": ("clos", "closed"),
    "nothing": ("Rien pour l'instant.", "Nothing yet."),
    "back": ("Retour", "Back"),
    "job_waiting": ("En attente : un worker de la plateforme le lancera sous peu.",
                    "Waiting: one of the platform's workers will start it shortly."),
    "no_worker": ("En attente, mais aucun worker de la plateforme n'est actif : il ne partira pas avant que "
                  "l'exploitant en relance un.",
                  "Waiting, but none of the platform's workers is running: it will not start until the operators "
                  "start one."),
    "error": ("Erreur", "Error"),
    "catalogue_intro": ("Métadonnées publiques des bases hébergées. Les données elles-mêmes ne sont accessibles que "
                        "dans un espace projet autorisé.",
                        "Public metadata of the hosted databases. The data themselves are reachable only in an "
                        "authorised project workspace."),
    "data_catalogue": ("Catalogue des données", "Data catalogue"),
    "release": ("Version", "Release"),
    "published": ("Publiée (UTC)", "Published (UTC)"),
    "tables": ("Tables", "Tables"),
    "rows": ("Lignes", "Rows"),
    "merkle": ("Racine de Merkle", "Merkle root"),
    "no_dataset": ("Aucune base publiée pour l'instant.", "No database published yet."),
    "signed_in_as": ("Connecté·e :", "Signed in:"),
    "call": ("Appel à projets", "Call for projects"),
    "users": ("Comptes", "Accounts"),
    "workspaces": ("Espaces projet", "Workspaces"),
    "jobs": ("Traitements", "Jobs"),
    "new_job": ("Lancer un traitement (Python ou SQL) dans le bac à sable", "Run a job (Python or SQL) in the sandbox"),
    "script": ("Script", "Script"),
    "kind": ("Langage", "Language"),
    "log": ("Journal", "Log"),
    "outputs": ("Sorties (elles ne quittent l'espace que par le sas)", "Outputs (they leave the workspace only through the airlock)"),
    "job_hint": ("Sans réseau ; l'extraction en lecture seule (from bastide import workspace) ; écrivez vos résultats dans le dossier courant.",
                 "No network; the extract read-only (from bastide import workspace); write your results in the current folder."),
    "job_hint_spark": ("Cet espace tourne sur Spark : l'extraction reste dans le cluster ; interrogez-la par workspace.sql(\"SELECT …\"), "
                       "une requête en lecture seule à la fois, le résultat en table pyarrow (agrégez en SQL).",
                       "This workspace runs on Spark: the extract stays in the cluster; query it with workspace.sql(\"SELECT …\"), "
                       "one read-only query at a time, the result as a pyarrow Table (aggregate in SQL)."),
    "refresh": ("Actualiser", "Refresh"),
    "view": ("Voir", "View"),
    "screen_view": ("Premières lignes, vues dans l'espace seulement : elles comptent dans votre quota quotidien de "
                    "lignes affichées, et la lecture est tracée. Le fichier entier ne sort que par le sas.",
                    "First lines, seen in the workspace only: they count in your daily quota of rows shown, and the "
                    "reading is traced. The whole file leaves only through the airlock."),
    "cut_rows": ("la suite n'est pas affichée (lignes)", "the rest is not shown (lines)"),
    "cut_bytes": ("la suite n'est pas affichée (taille)", "the rest is not shown (size)"),
    "cut_quota": ("la suite dépasserait votre quota quotidien : demandez la sortie du fichier par le sas",
                  "the rest would pass your daily quota: ask for the file's release through the airlock"),
    "rows_left": ("Lignes encore affichables aujourd'hui :", "Rows you may still be shown today:"),
    "save_as": ("Garder le résultat entier dans les sorties, sous le nom", "Keep the whole result in the outputs, named"),
    "saved": ("Gardé dans les sorties :", "Kept in the outputs:"),
    "workspace": ("Espace projet", "Workspace"),
    "extract": ("Extraction", "Extract"),
    "persons": ("Personnes", "Persons"),
    "columns": ("Variables", "Variables"),
    "sql_console": ("Console SQL", "SQL console"),
    "run": ("Exécuter", "Run"),
    "truncated": ("résultat tronqué", "result truncated"),
    "truncated_quota": ("résultat tronqué : votre quota quotidien de lignes affichées est atteint ; gardez le résultat "
                        "dans les sorties et demandez sa sortie par le sas",
                        "result truncated: your daily quota of rows shown is reached; keep the result in the outputs "
                        "and ask for its release through the airlock"),
    "sql_hint": ("Une requête en lecture (SELECT, WITH, DESCRIBE, SUMMARIZE…) sur les tables de l'extraction seulement ; "
                 "aucun fichier, aucun réseau ; tables et scripts dans un traitement. Requête, durée et nombre de lignes sont tracés.",
                 "One read-only query (SELECT, WITH, DESCRIBE, SUMMARIZE…) on the extract's tables only; no files, no network; "
                 "tables and scripts go in a job. Query, duration and row count are traced."),
    "extend_permit": ("Prolonger le permis (une seule fois)", "Extend the permit (once only)"),
    "revoke_permit": ("Révoquer le permis", "Revoke the permit"),
    "months": ("Mois", "Months"),
    "reason": ("Motif", "Reason"),
    "extend_deadline": ("Prolonger le délai de décision (une fois, motivé)", "Extend the decision deadline (once, with a reason)"),
    "criteria_call": ("Critères", "Criteria"),
    "criteria_lines": ("Critères, un par ligne : « nom » ou « nom : poids »", "Criteria, one per line: 'name' or 'name: weight'"),
    "description": ("Description", "Description"),
    "closes_on": ("Clôture", "Closes on"),
    "new_call": ("Nouvel appel à projets", "New call for projects"),
    "ranking": ("Classement et notes (0 à 5)", "Ranking and scores (0 to 5)"),
    "score": ("Note pondérée (évaluateurs)", "Weighted score (reviewers)"),
    "select": ("Retenir", "Select"),
    "select_checked": ("Retenir les demandes cochées", "Select the checked applications"),
    "new_user": ("Inscrire un membre d'un organisme", "Register an organisation member"),
    "name": ("Nom", "Name"),
    "sector": ("Secteur (si l'organisme est nouveau)", "Sector (if the organisation is new)"),
    "roles": ("Rôles", "Roles"),
    "end_of_rights": ("Fin des droits", "End of rights"),
    "activation_link": ("Lien d'activation, à transmettre à la personne (affiché une seule fois) :",
                        "Activation link, to give to the person (shown once):"),
    # the airlock
    "airlock": ("Sas de sortie", "Airlock"),
    "release_requests": ("Demandes de sortie", "Release requests"),
    "new_release": ("Nouvelle demande de sortie", "New release request"),
    "release_hint": ("Choisissez des sorties, décrivez chacune (ce qu'elle montre, la population, la méthode) : "
                     "les contrôles de secret statistique s'appliquent, puis deux vérificateurs indépendants décident.",
                     "Choose outputs and describe each (what it shows, the population, the method): the disclosure "
                     "checks run, then two independent checkers decide."),
    "check": ("Contrôler", "Check"),
    "checks": ("Contrôles", "Checks"),
    "findings_none": ("Aucune remarque : le fichier passe les contrôles.", "No finding: the file passes the checks."),
    "add_file": ("Ajouter ou remplacer un fichier", "Add or replace a file"),
    "output": ("Sortie", "Output"),
    "exception": ("Exception (pourquoi une remarque bloquante est sans risque)", "Exception (why a blocking finding is safe)"),
    "remove": ("Retirer", "Remove"),
    "submit_request": ("Soumettre", "Submit"),
    "withdraw": ("Retirer la demande", "Withdraw the request"),
    "votes": ("Avis", "Votes"),
    "blind": ("Les avis des autres vérificateurs s'affichent après le vôtre.", "Other checkers' votes show after yours."),
    "vote": ("Donner mon avis", "Cast my vote"),
    "approve": ("Approuver", "Approve"),
    "return": ("Renvoyer au chercheur", "Return to the researcher"),
    "reject": ("Refuser", "Reject"),
    "comment": ("Commentaire", "Comment"),
    "decide": ("Décider", "Decide"),
    "release_out": ("Sortie", "Release"),
    "released_files": ("Fichiers sortis (signés)", "Released files (signed)"),
    "release_record": ("Registre signé RELEASE.json", "Signed record RELEASE.json"),
    "release_verify": ("Vérifiable hors ligne : bastide airlock verify DOSSIER --public-key bastide.pub",
                       "Verifiable offline: bastide airlock verify FOLDER --public-key bastide.pub"),
    "revoke_release": ("Révoquer la sortie", "Revoke the release"),
    "review_queue": ("Sorties à vérifier", "Outputs to check"),
    "view": ("Voir", "View"),
    "imports": ("Fichiers entrants", "Files brought in"),
    "import_hint": ("Code, listes de codes, nomenclatures, données publiques : un vérificateur indépendant approuve ; "
                    "les traitements les lisent ensuite sous /data/imports (workspace.imported(nom)).",
                    "Code, codelists, nomenclatures, public data: an independent checker approves; jobs then read "
                    "them under /data/imports (workspace.imported(name))."),
    "file": ("Fichier", "File"),
    "purpose_of_file": ("À quoi sert-il ?", "What is it for?"),
    "bring_in": ("Demander l'entrée", "Ask to bring it in"),
    "approvals_needed": ("approbations requises par fichier", "approvals needed per file"),
    "engine": ("moteur", "engine"),

}

# The application form's fields as the page shows them (name, French label, English label, kind).
FORM_FIELDS: list[tuple[str, str, str, str]] = [
    ("persons", "Personnes accédant aux données (une adresse par ligne)", "Persons who will access the data (one e-mail per line)", "lines"),
    ("functions", "Fonctions et activités du demandeur", "Applicant's functions and activities", "text"),
    ("purpose", "Finalité (art. 53(1), lettre a–f)", "Purpose (Art. 53(1), letter a–f)", "purpose"),
    ("use", "Utilisation prévue et bénéfice attendu", "Intended use and expected benefit", "area"),
    ("snapshot", "Version de base (ex. snds@2024-12)", "Database release (e.g. snds@2024-12)", "text"),
    ("tables", "Tables (séparées par des espaces)", "Tables (space-separated)", "words"),
    ("columns", "Variables (séparées par des espaces, vide : toutes)", "Variables (space-separated, empty: all)", "words"),
    ("years", "Années (séparées par des espaces)", "Years (space-separated)", "years"),
    ("icd10", "Population : codes CIM-10", "Population: ICD-10 codes", "words"),
    ("atc", "Population : codes ATC", "Population: ATC codes", "words"),
    ("ccam", "Population : actes CCAM", "Population: CCAM codes", "words"),
    ("identifiers", "Identifiants potentiels demandés", "Potential identifiers asked for", "words"),
    ("pseudonymised", "Données pseudonymisées (oui/non)", "Pseudonymised data (yes/no)", "bool"),
    ("pseudonymisation_justification", "Pourquoi des données anonymes ne suffisent pas", "Why anonymised data will not do", "area"),
    ("gdpr_compliance", "Base juridique RGPD (art. 67(4))", "GDPR legal basis (Art. 67(4))", "text"),
    ("brought_datasets", "Jeux de données apportés (vide si aucun)", "Datasets brought in (empty if none)", "words"),
    ("safeguards", "Garanties", "Safeguards", "area"),
    ("tools", "Outils et ressources de calcul", "Tools and computing resources", "text"),
    ("engine", "Moteur de calcul (vide : celui de la plateforme)", "Computing engine (empty: the platform's)", "engine"),
    ("ethics", "Évaluation éthique", "Ethics assessment", "text"),
    ("optout_exception", "Exception à l'opposition (« none » si aucune)", "Opt-out exception ('none' if none)", "text"),
    ("duration_months", "Durée (mois, 120 au plus)", "Duration (months, at most 120)", "int"),
]


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return "en" if (accept or "").lower().startswith("en") else "fr"


def translator(lang: str):
    index = LANGUAGES.index(lang)

    def t(key: str) -> str:
        return MESSAGES[key][index]

    return t
