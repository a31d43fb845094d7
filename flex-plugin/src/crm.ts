/** The CRM container's URL for a task: the service's panel, told which task by its sid. */
export function panelUrl(serviceUrl: string, task: { taskSid?: string } | null | undefined): string {
  const sid = task?.taskSid;
  // Without a task the panel shows its own "no customer selected" placeholder.
  return sid ? `${serviceUrl}/panel?taskSid=${encodeURIComponent(sid)}` : `${serviceUrl}/panel`;
}
