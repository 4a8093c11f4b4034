<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="urn:example:stock"
  exclude-result-prefixes="soap m">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:template match="/">
    <xsl:apply-templates select="soap:Envelope/soap:Body/*"/>
  </xsl:template>
  <xsl:template match="m:GetQuoteResponse">{"symbol":"<xsl:value-of select="m:Symbol"/>","price":<xsl:value-of select="number(m:Price)"/>,"tags":[<xsl:for-each select="m:Tag">"<xsl:value-of select="translate(., '&quot;', '')"/>"<xsl:if test="position() != last()">,</xsl:if></xsl:for-each>]}</xsl:template>
</xsl:stylesheet>
